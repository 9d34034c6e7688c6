"""Product JSON Schemas, the JSON-LD context, examples and the OpenAPI document.

Shipped inside the wheel as `passport.schemas` (see `[tool.setuptools.package-dir]`); read them
with `importlib.resources.files("passport.schemas")`, never by a path from the source tree.
"""
