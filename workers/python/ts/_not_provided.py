"""Modules of TorchServe's ``ts`` that need a GPU stack Lantern's worker does not provide. Importing
one raises an ImportError that names what TorchServe's module needs, instead of a bare
ModuleNotFoundError about a file the user never wrote."""


def refuse(module: str, needs: str, name: str) -> None:
    raise ImportError(
        f"{module} is not provided by Lantern: it needs {needs}, which Lantern's Python worker does not support",
        name=name,
    )
