"""The checks behind ``cnn_course.exercises``, one module per part of the course; each module
registers its exercises (one check function each) in ``common.REGISTRY`` when imported."""

__all__: list[str] = []
