"""A cell the importer cannot read; the message says why, in the reader's language."""


class CellError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
