"""Default handlers, registered by name (``--handler base_handler``, ``image_classifier``)."""
