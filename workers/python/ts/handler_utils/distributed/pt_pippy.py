"""``ts.handler_utils.distributed.pt_pippy``: not provided (needs PiPPy (pippy), CUDA GPUs and torchrun); see ts._not_provided."""
from ..._not_provided import refuse

refuse("ts.handler_utils.distributed.pt_pippy", "PiPPy (pippy), CUDA GPUs and torchrun", "pippy")
