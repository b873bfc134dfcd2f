"""The fixture registry: for every real file in tests/data, facts read from it by hand.

Parse tests are parametrised over these dicts and assert each fact, so a parser that drifts from
what the files say fails. Every figure below was read from the file itself (see SOURCES.md for
where each file comes from). Paths are relative to tests/data.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent

#: --exportLayerInfo / TREx *.graph.json files
LAYER_INFO = {
    "trtexec/layerinfo-10.16.1-detailed.json": {
        "layers": 9,
        "detailed": True,
        "bindings": ["x", "y", "z"],
        "types": {"Convolution": 2, "Pooling": 2, "gemm": 1, "kgen": 4},
        # Myelin gemm layer: no ParameterType, short "Float" formats
        "layer": ("node_linear_myl4_0", "gemm", "FP32"),
        "tactic": (
            "node_max_pool2d",
            "sm50_xmma_pooling_tiled_FP32NCHW_kMAX_tP2_tQ16_tR2_tS2_tU2_tV2_tUnroll4_tThreads128",
        ),
        "output_dims": ("node_max_pool2d", [1, 32, 14, 14]),
        # its output z is written "Int64"
        "output_dtype": ("__myl_CastReshCast_myl4_4", "INT64"),
    },
    "trtexec/layerinfo-8.6.0-names-only.json": {
        "layers": 15,
        "detailed": False,
        "bindings": ["tensor-0", "tensor-15"],
        "first": "Reformatting CopyNode for Input Tensor 0 to Conv-1 + ReLU-2",
    },
    "trtexec/fuzzylabs-10.x-alexnet-fp16.graph.json": {
        "layers": 14,
        "detailed": True,
        "bindings": ["input", "output"],
        "types": {
            "Convolution": 5,
            "Pooling": 3,
            "gemm": 3,
            "kgen": 1,
            "shape_call": 1,
            "Reformat": 1,
        },
        "layer": ("/features/features.0/Conv + /features/features.1/Relu", "Convolution", "FP16"),
        # shape_call has no inputs and no outputs: no precision
        "no_precision": "dummy_shape_call__mye622_0_myl9_0",
    },
    "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json": {
        "layers": 26,
        "detailed": True,
        "bindings": ["input", "output"],
        "layer": ("/conv1/Conv + /relu/Relu", "Convolution", "FP16"),
        "precisions": {"FP16": 25, None: 1},
    },
    "trtexec/trex-tf-resnet50-rtx3090-fp32.graph.json": {
        "layers": 103,
        "detailed": True,
        "bindings": ["input_1", "predictions"],
        "layer_types": {"CaskConvolution": 53, "NoOp": 31, "Reformat": 13},
        "layer": ("Conv__435 + resnet50/conv1_relu/Relu", "Convolution", "FP32"),
        "tactic": (
            "Conv__435 + resnet50/conv1_relu/Relu",
            "ampere_scudnn_128x64_relu_medium_nn_v1",
        ),
        "precisions": {"FP32": 103},
    },
    "trtexec/trex-pt-resnet18-a100-qat-int8.graph.json": {
        "layers": 37,
        "detailed": True,
        "bindings": ["input.1", "422"],
        "layer": ("conv1.weight + QuantizeLinear_7 + Conv_9", "Convolution", "INT8"),
        "precisions": {"INT8": 22, "FP16": 11, "FP32": 4},
    },
    "trex/A100-fp32/resnet.onnx.engine.graph.json": {
        "layers": 32,
        "detailed": True,
        "bindings": ["input.1", "191"],
        "layer": ("MaxPool_2", "Pooling", "FP32"),
        # no TacticName on this layer: the TacticValue stands in
        "tactic": ("MaxPool_2", "0x0000000000270101"),
        "precisions": {"FP32": 32},
    },
    "trex/A100-fp16/resnet.onnx.engine.graph.json": {
        "layers": 36,
        "detailed": True,
        "bindings": ["input.1", "191"],
        "layer": ("Conv_0 + Relu_1", "Convolution", "FP16"),
        "precisions": {"FP16": 35, "FP32": 1},
    },
    "trex/A100-qat/resnet-qat.onnx.engine.graph.json": {
        "layers": 37,
        "detailed": True,
        "bindings": ["input.1", "422"],
        "layer": ("conv1.weight + QuantizeLinear_7 + Conv_9", "Convolution", "INT8"),
        "precisions": {"INT8": 22, "FP16": 11, "FP32": 4},
    },
    "trex/notebook-yolo-orin/layer_info.json": {
        "layers": 86,
        "detailed": False,
        "bindings": ["input", "output"],
        "first": "[trainStation1]",
    },
}

#: --exportProfile files: records (without the count record), count, sum of timeMs, slowest
PROFILE = {
    "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.json": {
        "records": 14,
        "count": 14590,
        "total_ms": 7647.6503,
        "slowest": ("/classifier/classifier_1/Gemm_myl9_2", 3495.36, 45.705),
        "matches_layer_info": "trtexec/fuzzylabs-10.x-alexnet-fp16.graph.json",
    },
    "trtexec/fuzzylabs-10.x-resnet18-fp16.profile.json": {
        "records": 26,
        "count": 21071,
        "total_ms": 7659.6382,
        "slowest": ("/conv1/Conv + /relu/Relu", 607.872, 7.93604),
        "matches_layer_info": "trtexec/fuzzylabs-10.x-resnet18-fp16.graph.json",
    },
    "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.json": {
        "records": 103,
        "count": 1,
        "total_ms": 12.39974,
        "zero_ms": 31,
        "slowest": ("Conv__435 + resnet50/conv1_relu/Relu", 0.433152, 3.49323),
        "matches_layer_info": "trtexec/trex-tf-resnet50-rtx3090-fp32.graph.json",
    },
    "trtexec/trex-pt-resnet18-a100-qat-int8.profile.json": {
        "records": 37,
        "count": 1,
        "total_ms": 1.09568,
        "slowest": ("conv1.weight + QuantizeLinear_7 + Conv_9", 0.201728, 18.4112),
        "matches_layer_info": "trtexec/trex-pt-resnet18-a100-qat-int8.graph.json",
    },
    "trex/A100-fp32/resnet.onnx.engine.profile.json": {
        "records": 32,
        "count": 1,
        "total_ms": 2.123776,
        "slowest": ("Conv_0 + Relu_1", 0.52224, 24.5902),
        "matches_layer_info": "trex/A100-fp32/resnet.onnx.engine.graph.json",
    },
    "trex/A100-fp16/resnet.onnx.engine.profile.json": {
        "records": 36,
        "count": 1,
        "total_ms": 1.016832,
        "slowest": ("Conv_0 + Relu_1", 0.111616, 10.9768),
        "matches_layer_info": "trex/A100-fp16/resnet.onnx.engine.graph.json",
    },
    "trex/A100-qat/resnet-qat.onnx.engine.profile.json": {
        "records": 37,
        "count": 1,
        "total_ms": 1.09568,
        "slowest": ("conv1.weight + QuantizeLinear_7 + Conv_9", 0.201728, 18.4112),
        "matches_layer_info": "trex/A100-qat/resnet-qat.onnx.engine.graph.json",
    },
    "trex/notebook-yolo-orin/profile.json": {
        "records": 86,
        "count": 11,
        "total_ms": 4441.9749,
        "slowest": ("{ForeignNode[/head/Constant_2_output_0.../Unsqueeze_2]}", 1245.08, 28.0299),
        "matches_layer_info": "trex/notebook-yolo-orin/layer_info.json",
    },
}

#: --exportTimes files
TIMES = {
    "trtexec/trex-tf-resnet50-rtx3090-fp32.timing.json": {
        "records": 263,
        "first_latency_ms": 13.0181,
        "last_latency_ms": 12.1631,
    },
}

#: TREx *.profile.metadata.json: throughput, latency median, GPU, latency list length
PROFILE_METADATA = {
    "trex/A100-fp16/resnet.onnx.engine.profile.metadata.json": {
        "throughput": 1155.36,
        "latency_median_ms": 0.862183,
        "latency_p99_ms": 0.871338,
        "device": "NVIDIA A100 80GB PCIe",
        "stats": 5,
    },
    "trex/A100-fp32/resnet.onnx.engine.profile.metadata.json": {
        "throughput": 499.294,
        "latency_median_ms": 1.99072,
        "latency_p99_ms": 2.05621,
        "device": "NVIDIA A100 80GB PCIe",
        "stats": 5,
    },
    "trex/A100-qat/resnet-qat.onnx.engine.profile.metadata.json": {
        "throughput": 1130.01,
        "latency_median_ms": 0.882568,
        "latency_p99_ms": 0.884766,
        "device": "NVIDIA A100 80GB PCIe",
        "stats": 5,
    },
    "trtexec/fuzzylabs-10.x-alexnet-fp16.profile.metadata.json": {
        "throughput": 2012.22,
        "latency_median_ms": 0.495605,
        "latency_p99_ms": 0.5,
        "gpu_total_s": 2.99126,
        "device": "NVIDIA GeForce RTX 3060 Laptop GPU",
        "stats": 7,
    },
    "trtexec/trex-mobilenet-qat.profile.metadata.json": {
        "throughput": 2829.15,
        "latency_median_ms": 0.351196,
        "latency_p99_ms": 0.376038,
        "device": "NVIDIA TITAN RTX",
        "stats": 7,
    },
    "trtexec/trex-tf-resnet50-rtx3090-fp32.profile.metadata.json": {
        "throughput": 81.9895,
        "latency_median_ms": 12.1682,
        "latency_p99_ms": 12.7775,
        "gpu_total_s": 3.02441,
        "device": "NVIDIA GeForce RTX 3090",
        "stats": 5,
    },
}

#: TREx *.build.metadata.json: the Precision build option, as TREx cut it
BUILD_METADATA = {
    "trex/A100-fp16/resnet.onnx.engine.build.metadata.json": {"Precision": "FP32+FP16"},
    "trex/A100-fp32/resnet.onnx.engine.build.metadata.json": {"Precision": "FP32"},
    "trex/A100-qat/resnet-qat.onnx.engine.build.metadata.json": {"Precision": "FP32+FP16+INT8"},
    "trtexec/fuzzylabs-10.x-alexnet-fp16.build.metadata.json": {"Precision": "FP32+FP16"},
    "trtexec/trex-tf-resnet50-rtx3090-fp32.build.metadata.json": {"Precision": "FP32"},
}

#: TREx's older device files (a list of dicts)
DEVICE_METADATA = {
    "trex/A100-fp16/resnet.onnx.engine.metadata.json": {"Name": "NVIDIA A100 80GB PCIe"},
    "trex/A100-fp32/resnet.onnx.engine.metadata.json": {"Name": "NVIDIA A100 80GB PCIe"},
    "trex/A100-qat/resnet-qat.onnx.engine.metadata.json": {"Name": "NVIDIA A100 80GB PCIe"},
    "trtexec/trex-pt-resnet18-a100-fp16.metadata.json": {"Name": "NVIDIA A100 80GB PCIe"},
}

#: trtexec --help texts: not results; other helpers (trtexec/flags.py) test them
HELP = [
    "trtexec/help-trtexec-8.6.1.txt",
    "trtexec/help-trtexec-10.0.1.txt",
    "trtexec/help-trtexec-10.6.0.txt",
    "trtexec/help-trtexec-10.16.1.txt",
]

#: trtexec logs (filled in with the log parser's facts; see LOGS below)
LOGS: dict[str, dict] = {}
