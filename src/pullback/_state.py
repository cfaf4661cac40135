"""Per-thread recording state shared by Tensors and tapes: which tapes are recording, and ids."""

import itertools
import threading

__all__ = ["stack", "new_id"]

# Every Tensor gets a unique, never-reused id; a Variable keeps its id for life, so that each
# read of it connects to the same source.  Python's id() is reused after garbage collection.
new_id = itertools.count(1).__next__


class _Stack(threading.local):
    """The tapes recording in this thread, innermost last."""

    def __init__(self):
        self.recording = []
        # Set while pb.grad runs a function on the tape: turning a differentiated Tensor into
        # a plain array or float there would silently drop part of the gradient.
        self.strict = False
        self.lost = None
        # Also while pb.grad runs a function on the tape: the views taken so far (a
        # _tapeviews.Views); None otherwise.
        self.views = None


stack = _Stack()
