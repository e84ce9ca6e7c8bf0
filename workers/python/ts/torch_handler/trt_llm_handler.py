"""``ts.torch_handler.trt_llm_handler``: not provided (needs TensorRT-LLM (tensorrt_llm) and a CUDA GPU); see ts._not_provided."""
from .._not_provided import refuse

refuse("ts.torch_handler.trt_llm_handler", "TensorRT-LLM (tensorrt_llm) and a CUDA GPU", "tensorrt_llm")
