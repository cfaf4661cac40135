"""What must not depend on the Python version (3.10 and newer): the generated text, and which
rule lambda the source engine inlines.  CI runs the suite on every Python it finds."""

import ast
import re

import numpy as np

import pullback as pb
from pullback._registry import lookup
from pullback._source._rulecode import _lambda_node
from pullback._source._translate import to_ast


def _pair(a, b):
    return a * b, a + b


def test_a_tuple_target_is_written_without_parentheses():
    def f(x, y):
        p, q = _pair(x, y)
        return np.sum(p * q)

    df = pb.grad(f, wrt=(0, 1), mode="source")
    df(np.ones(3), np.full(3, 2.0))
    source = df.source
    assert re.search(r"^ *\w+, \w+ = d_pair\(x, y\)$", source, re.M), source
    assert not re.search(r"^ *\([\w, ]+\) = ", source, re.M), source


def test_the_two_add_rules_on_one_line_are_told_apart():
    prim = lookup(np.add)
    texts = []
    for position in (0, 1):
        node = _lambda_node(prim.vjps[position])
        assert node is not None
        texts.append(ast.unparse(to_ast(node)))
    assert texts[0].endswith("unbroadcast(g, x)") and texts[1].endswith("unbroadcast(g, y)")
