"""``ts.handler_utils.preprocess.dali``: not provided (needs NVIDIA DALI (nvidia.dali) and a CUDA GPU); see ts._not_provided."""
from ..._not_provided import refuse

refuse("ts.handler_utils.preprocess.dali", "NVIDIA DALI (nvidia.dali) and a CUDA GPU", "nvidia.dali")
