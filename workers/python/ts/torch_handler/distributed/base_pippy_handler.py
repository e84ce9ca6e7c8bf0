"""``ts.torch_handler.distributed.base_pippy_handler``: not provided (needs PiPPy (pippy), CUDA GPUs and torchrun); see ts._not_provided."""
from ..._not_provided import refuse

refuse("ts.torch_handler.distributed.base_pippy_handler", "PiPPy (pippy), CUDA GPUs and torchrun", "pippy")
