"""The environment profile: installed versions, platform and variables that decide what runs."""
