"""``ts.torch_handler.vllm_handler``: not provided (needs vLLM (vllm) and a CUDA GPU); see ts._not_provided."""
from .._not_provided import refuse

refuse("ts.torch_handler.vllm_handler", "vLLM (vllm) and a CUDA GPU", "vllm")
