"""What a user's function accepts, found before the search: shapes (:mod:`.layout`) and
their inference by probing, with the dtypes the function runs in (:mod:`.inference`)."""
