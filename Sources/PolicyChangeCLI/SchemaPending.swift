let RunbookSchemaPENDING = "{}"
