"""``Module``: the base class of layers and models (PyTorch ``nn.Module`` semantics)."""
from __future__ import annotations

from collections import OrderedDict

from ...autograd.engine import Tensor
from ...backend import asarray, backend_of, get_backend, is_array, namespace_of, resolve_dtype, to_device
from ..parameter import Parameter


class Module:
    """Base class: assign Parameters, Modules and (via :meth:`register_buffer`) buffer arrays as
    attributes; implement :meth:`forward`. Attributes live in the instance ``__dict__`` so reading
    ``self.weight`` in ``forward`` costs a plain attribute lookup. ``_version`` counts attribute
    assignments and deletions (cached plans, such as :mod:`xpnet.nn.fusion`'s, compare it).

    >>> import xpnet as xn
    >>> class Scale(xn.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = xn.nn.Parameter(xn.asarray([2.0]))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> xn.to_numpy(Scale()(xn.tensor([1.0, 3.0]))).tolist()
    [2.0, 6.0]
    """

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_version"] = 0
        d["_param_names"] = []
        d["_module_names"] = []
        d["_buffer_names"] = []

    def __setattr__(self, name, value):
        d = self.__dict__
        if "_param_names" not in d:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before assigning {name!r}")
        for reg in (d["_param_names"], d["_module_names"], d["_buffer_names"]):
            if name in reg and not (reg is d["_buffer_names"] and (value is None or is_array(value))):
                reg.remove(name)
        if isinstance(value, Parameter):
            d["_param_names"].append(name)
        elif isinstance(value, Module):
            d["_module_names"].append(name)
        d["_version"] = d.get("_version", 0) + 1
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for reg in (self._param_names, self._module_names, self._buffer_names):
            if name in reg:
                reg.remove(name)
        self.__dict__["_version"] = self.__dict__.get("_version", 0) + 1
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array) -> None:
        """Register a non-trainable array (e.g. BatchNorm running statistics) saved in state_dict."""
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        self.__dict__["_version"] = self.__dict__.get("_version", 0) + 1
        object.__setattr__(self, name, array)

    # -- calling --------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def __call__(self, *args, **kwargs):
        if args and not isinstance(args[0], Tensor) and is_array(args[0]):
            args = (Tensor(args[0]),) + args[1:]
        return self.forward(*args, **kwargs)

    # -- traversal ------------------------------------------------------------------------------
    def named_children(self):
        for name in self._module_names:
            yield name, self.__dict__[name]

    def children(self):
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name in m._param_names:
                p = m.__dict__[name]
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mprefix}.{name}" if mprefix else name), p

    def parameters(self, recurse: bool = True):
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = ""):
        for mprefix, m in self.named_modules(prefix):
            for name in m._buffer_names:
                b = m.__dict__[name]
                if b is not None:
                    yield (f"{mprefix}.{name}" if mprefix else name), b

    def buffers(self):
        return [b for _, b in self.named_buffers()]

    # -- modes ----------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p._xp.zeros_like(p.grad)

    def requires_grad_(self, flag: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, object]":
        """Parameters and buffers by dotted name, as the backend arrays themselves (not copies)."""
        out = OrderedDict()
        for name, p in self.named_parameters():
            out[name] = p.data
        for name, b in self.named_buffers():
            out[name] = b
        return out

    def load_state_dict(self, state, strict: bool = True):
        """Copy arrays (of any backend) into this module's parameters and buffers, in place."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        owners = self._owners()
        for key, value in state.items():
            if key not in own:
                continue
            target = own[key]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"load_state_dict: {key!r} expected shape {tuple(target.shape)}, got {tuple(value.shape)}"
                )
            value = asarray(value, backend=backend_of(target))
            if value.dtype != target.dtype:
                value = namespace_of(target).astype(value, target.dtype)
            module, attr, kind = owners[key]
            if kind == "param":
                getattr(module, attr).data[...] = value
            else:
                target[...] = value
        return missing, unexpected

    def _owners(self):
        out = {}
        for mprefix, m in self.named_modules():
            for name in m._param_names:
                out[f"{mprefix}.{name}" if mprefix else name] = (m, name, "param")
            for name in m._buffer_names:
                out[f"{mprefix}.{name}" if mprefix else name] = (m, name, "buffer")
        return out

    def to(self, target) -> "Module":
        """Move every parameter (keeping its identity, so optimisers stay bound), gradient and buffer."""
        for m in self.modules():
            for name in m._param_names:
                p = m.__dict__[name]
                p.data = to_device(p.data, target)
                p._xp = namespace_of(p.data)
                if p.grad is not None:
                    p.grad = to_device(p.grad, target)
            for name in m._buffer_names:
                b = m.__dict__[name]
                if b is not None:
                    object.__setattr__(m, name, to_device(b, target))
        return self

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # -- description ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def summary(self, input_shape=None, print_fn=None) -> str:
        """A table of layers with output shapes (when ``input_shape`` is given, traced on zeros in
        eval mode; the batch dimension shown as ``N``) and parameter counts; returned and, with
        ``print_fn``, printed."""
        from ...autograd import no_grad

        shapes = {}
        if input_shape is not None:
            batch = lambda shape: "(" + ", ".join(["N", *map(str, shape[1:])]) + ")"  # any batch size

            def traced(m):
                inner = m.forward  # the bound method of the class

                def forward(*args, **kwargs):
                    out = inner(*args, **kwargs)
                    shapes[id(m)] = batch(out.shape) if isinstance(out, Tensor) else "?"
                    return out
                return forward

            p0 = next(iter(self.parameters()), None)
            b = backend_of(p0.data) if p0 is not None else get_backend()
            x = b.xp.zeros(tuple(input_shape), dtype=resolve_dtype(b.xp), device=b.device)
            was = self.training
            self.eval()
            mods = [m for m in self.modules() if "forward" not in m.__dict__]
            for m in mods:  # an instance's own forward records its output shape (and is never fused)
                m.forward = traced(m)
            try:
                with no_grad():
                    self(x)
            finally:
                for m in mods:
                    del m.forward
                self.train(was)
        rows = [("Layer (type)", "Output shape", "Param #")]
        for name, m in self.named_modules():
            if not name:
                continue
            own = sum(p.numel() for p in m.parameters(recurse=False))
            depth = name.count(".")
            rows.append(("  " * depth + f"{name} ({type(m).__name__})", str(shapes.get(id(m), "")), f"{own:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        sep = "-" * (sum(widths) + 6)
        fmt = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
        total, trainable = self.num_parameters(), self.num_parameters(trainable_only=True)
        text = "\n".join([sep, fmt(rows[0]), sep, *map(fmt, rows[1:]), sep,
                          f"Total params: {total:,}", f"Trainable params: {trainable:,}", sep])
        if print_fn is not None:
            print_fn(text)
        return text


__all__ = ["Module"]
