"""Conversions of a differentiated value: NumPy's (``np.asarray(x, dtype=...)``,
``x.astype(...)``), which dtype they convert to as far as the code says, and pullback's
TensorFlow-style names (``pb.nn.sigmoid``, ``pb.math.sin``), which make Tensors.

A conversion to a float dtype (or none given: the value's own) is differentiated with the
conversion's rule; one to an integer or bool dtype has gradient zero, as ``int(v)``; one to a
complex dtype, or to a dtype the code does not name (``dtype=dt``), is refused: the rules
assume real numbers, and an unknown dtype might be either.
"""

import numpy as np

import gast

__all__ = ["conversion_dtype", "conversion_refusal", "tensor_name_refusal"]

# Conversion functions -> the position of their dtype argument (always also ``dtype=``).
_CONVERSIONS = {np.asarray: 1, np.asanyarray: 1, np.array: 1, np.ascontiguousarray: 1,
                np.asfortranarray: 1}


def _dtype_node(node, scope, varied):
    """The dtype argument of conversion call ``node``: (True, node or None) for a conversion,
    (False, None) for any other call."""
    func = node.func
    if isinstance(func, gast.Attribute) and func.attr == "astype" and varied(func.value):
        position = 0
    else:
        value = scope.static_value(func)
        try:
            position = _CONVERSIONS.get(value)
        except TypeError:   # an unhashable object
            position = None
        if position is None:
            return False, None
    for kw in node.keywords:
        if kw.arg == "dtype":
            return True, kw.value
    return True, node.args[position] if len(node.args) > position else None


def conversion_dtype(node, scope, varied):
    """For a call ``node``: None when it is no conversion; else "float" (a float dtype, or
    the value's own), "constant" (an integer or bool dtype), "complex", or "unknown".
    ``varied(expr)`` tells whether an expression depends on the differentiated arguments."""
    conversion, dtype = _dtype_node(node, scope, varied)
    if not conversion:
        return None
    if dtype is None or isinstance(dtype, gast.Constant) and dtype.value is None:
        return "float"
    if isinstance(dtype, gast.Attribute) and dtype.attr == "dtype" and varied(dtype.value):
        return "float"   # y.dtype of a differentiated y: a float dtype
    value = dtype.value if isinstance(dtype, gast.Constant) else scope.static_value(dtype)
    try:
        kind = np.dtype(value).kind if value is not None else None
    except TypeError:
        kind = None
    return {"f": "float", "i": "constant", "u": "constant", "b": "constant",
            "c": "complex"}.get(kind, "unknown")


def _copies(node, scope):
    """Whether conversion call ``node`` copies unless told not to (``np.array``, ``.astype``)."""
    func = node.func
    if isinstance(func, gast.Attribute) and func.attr == "astype":
        return True
    return scope.static_value(func) is np.array


def conversion_refusal(node, scope, varied):
    """Why the engine refuses conversion call ``node`` of a differentiated value, or None."""
    func = node.func
    if isinstance(func, gast.Attribute) and func.attr == "view" and (
            node.args or node.keywords) and varied(func.value):
        return ("pb.grad cannot differentiate x.view(dtype): it reinterprets the bytes of a "
                "differentiated value, which has no derivative; use x.astype(dtype) to "
                "convert its values")
    kind = conversion_dtype(node, scope, varied)
    copy = next((kw.value for kw in node.keywords if kw.arg == "copy"), None)
    if kind is not None and copy is not None and not (
            isinstance(copy, gast.Constant) and copy.value is True) and _copies(node, scope):
        return ("pb.grad cannot follow a conversion with copy= other than True: it may return "
                "the differentiated array itself, which the engine takes for a new one (a "
                "write into either would be missed); drop copy= (a copy), or write "
                "np.asarray(x, dtype=...), which the engine follows as a view of x")
    if kind == "complex":
        return ("pb.grad differentiates real values only: this converts a differentiated value "
                "to a complex dtype, and the derivative rules assume real numbers (the "
                "gradient would be wrong). Keep the computation real (write the real and "
                "imaginary parts as real arrays)")
    if kind == "unknown":
        return ("pb.grad cannot tell which dtype this converts a differentiated value to; "
                "name the dtype in the call (dtype=float, .astype(np.float32), "
                ".astype(x.dtype)), or use mode='tape'")
    return None


# pullback's modules of TensorFlow-style names: their functions make pb.Tensors for the tape.
_TENSOR_MODULES = ("pullback.math", "pullback.nn", "pullback._tfnames", "pullback.random")


def tensor_name_refusal(fn, shown):
    """Why the engine refuses a call of ``fn`` (written ``shown``) when it is one of pullback's
    TensorFlow-style functions, or None."""
    if getattr(fn, "__module__", None) not in _TENSOR_MODULES:
        return None
    numpy = getattr(fn, "_numpy_equivalent", None)
    instead = f"write {numpy} instead" if numpy else "write it with NumPy instead"
    return (f"pb.grad cannot differentiate {shown}(): it is one of pullback's TensorFlow-style "
            f"names, which make pb.Tensors for the GradientTape, and the generated code runs "
            f"on NumPy arrays; {instead}, or use mode='tape'")
