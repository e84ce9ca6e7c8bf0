"""``ts.torch_handler.dali_handler``: not provided (needs NVIDIA DALI (nvidia.dali) and a CUDA GPU); see ts._not_provided."""
from .._not_provided import refuse

refuse("ts.torch_handler.dali_handler", "NVIDIA DALI (nvidia.dali) and a CUDA GPU", "nvidia.dali")
