"""What a student never needs: the ``cnn-course`` command (``cli``), stored outputs
(``execute``), and the course's site and handouts (``publish``)."""
