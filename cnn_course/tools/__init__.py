"""What a student never needs: the ``cnn-course`` command (``cli``), stored outputs
(``execute``), the course's site and handouts (``publish``), and, for maintainers, the
notebooks' exercise cells generated from the exercise records (``exercise_cells``)."""
