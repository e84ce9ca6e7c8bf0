"""Exceptions a handler may raise to choose the error the whole batch gets."""


class PredictionException(Exception):
    """Fails the batch with ``error_code`` and ``message`` instead of 503 ``Prediction failed``."""

    def __init__(self, message: str, error_code: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    def __str__(self) -> str:
        return f"{self.message} : {self.error_code}"
