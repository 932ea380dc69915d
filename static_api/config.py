"""``tf.ConfigProto``, ``GPUOptions``, ``GraphOptions``, ``RunOptions``, ``RunMetadata``: accepted so TF1
programs run unchanged; the settings do not change how dualflow runs (one device, no tracing), except
``OptimizerOptions(opt_level=L0)``, which runs the session's graph without optimization, as in TF.  As TF's
protobufs, they take their fields as keywords and refuse unknown ones."""
from __future__ import annotations

from typing import Any


class _Message:
    _fields: dict = {}

    def __init__(self, **kwargs: Any) -> None:
        for name, default in self._fields.items():
            object.__setattr__(self, name, default() if isinstance(default, type) else default)
        for name, value in kwargs.items():
            if name not in self._fields:     # protobuf: a ValueError for keywords, AttributeError for attributes
                raise ValueError(f'Protocol message {type(self).__name__} has no "{name}" field.')
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._fields:
            raise AttributeError(f'Protocol message {type(self).__name__} has no "{name}" field.')
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return "".join(f"{k}: {v!r}\n" for k, v in vars(self).items() if v != self._fields[k])


class GPUOptions(_Message):
    _fields = {"allow_growth": False, "per_process_gpu_memory_fraction": 0.0, "visible_device_list": "",
               "allocator_type": "", "force_gpu_compatible": False}


class OptimizerOptions(_Message):
    _fields = {"opt_level": 0, "do_common_subexpression_elimination": False, "do_constant_folding": False,
               "global_jit_level": 0}
    L0, L1, ON_1, OFF, DEFAULT = -1, 0, 1, -1, 0


class GraphOptions(_Message):
    _fields = {"optimizer_options": OptimizerOptions, "build_cost_model": 0, "infer_shapes": False,
               "place_pruned_graph": False, "enable_bfloat16_sendrecv": False}


class ConfigProto(_Message):
    _fields = {"allow_soft_placement": False, "log_device_placement": False, "gpu_options": GPUOptions,
               "graph_options": GraphOptions, "device_count": dict, "intra_op_parallelism_threads": 0,
               "inter_op_parallelism_threads": 0, "use_per_session_threads": False, "operation_timeout_in_ms": 0}


class RunOptions(_Message):
    NO_TRACE, SOFTWARE_TRACE, HARDWARE_TRACE, FULL_TRACE = 0, 1, 2, 3
    _fields = {"trace_level": 0, "timeout_in_ms": 0, "output_partition_graphs": False,
               "report_tensor_allocations_upon_oom": False}


class RunMetadata(_Message):
    """Left empty: dualflow records no step stats."""
    _fields = {"step_stats": None, "partition_graphs": list, "cost_graph": None}
