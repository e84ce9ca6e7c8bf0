"""``ts.handler_utils.distributed.deepspeed``: not provided (needs DeepSpeed (deepspeed), CUDA GPUs and torchrun); see ts._not_provided."""
from ..._not_provided import refuse

refuse("ts.handler_utils.distributed.deepspeed", "DeepSpeed (deepspeed), CUDA GPUs and torchrun", "deepspeed")
