"""LLVM intrinsics that numba does not expose, for reductions that must vectorize.

LLVM's loop vectorizer turns a ``fcmp`` + ``select`` maximum into a vector reduction only when the
whole function is marked "no NaNs", which numba never does; a maximum written with Python's
``max`` therefore stays scalar. The ``llvm.maxnum`` intrinsic is recognized as a reduction on its
own, so :func:`fmax` makes a max-reduction loop vectorize (checked with ``inspect_asm``: packed
``vmaxpd``/``vmaxps``).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def fmax(typingctx: Any, a: Any, b: Any) -> Any:  # pragma: no cover - compiled
    """``maxnum(a, b)`` for two floats of the same type (the larger; a NaN operand is ignored)."""
    if not (isinstance(a, types.Float) and a == b):
        return None
    sig = a(a, b)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        lty = context.get_value_type(signature.return_type)
        name = "llvm.maxnum.f64" if lty == ir.DoubleType() else "llvm.maxnum.f32"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lty, [lty, lty]), name)
        return builder.call(fn, args, fastmath=("nnan", "nsz"))

    return sig, codegen


@intrinsic
def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:  # pragma: no cover - compiled
    """``a * b + c`` rounded once (``llvm.fma``), in scalar and vectorized loops alike: a kernel
    that spells its sums with it gets the same bits however LLVM vectorizes the loop around it."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None
    sig = a(a, b, c)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        lty = context.get_value_type(signature.return_type)
        name = "llvm.fma.f64" if lty == ir.DoubleType() else "llvm.fma.f32"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lty, [lty, lty, lty]), name)
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def fmin(typingctx: Any, a: Any, b: Any) -> Any:  # pragma: no cover - compiled
    """``minnum(a, b)`` for two floats of the same type (the smaller; a NaN operand is ignored):
    the min-reduction twin of :func:`fmax`."""
    if not (isinstance(a, types.Float) and a == b):
        return None
    sig = a(a, b)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        lty = context.get_value_type(signature.return_type)
        name = "llvm.minnum.f64" if lty == ir.DoubleType() else "llvm.minnum.f32"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(lty, [lty, lty]), name)
        return builder.call(fn, args, fastmath=("nnan", "nsz"))

    return sig, codegen
