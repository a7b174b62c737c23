"""Reading and writing files safely: regular files only, atomic writes, nothing outside the project, .gitignore."""
