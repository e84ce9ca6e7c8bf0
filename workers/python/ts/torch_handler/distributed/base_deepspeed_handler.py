"""``ts.torch_handler.distributed.base_deepspeed_handler``: not provided (needs DeepSpeed (deepspeed), CUDA GPUs and torchrun); see ts._not_provided."""
from ..._not_provided import refuse

refuse("ts.torch_handler.distributed.base_deepspeed_handler", "DeepSpeed (deepspeed), CUDA GPUs and torchrun", "deepspeed")
