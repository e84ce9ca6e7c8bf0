"""Default handlers, registered by name (``--handler image_classifier``, ``image_segmenter``,
``object_detector``, ``text_classifier``, ``densenet_handler``, ``base_handler``)."""
