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
    # TREx's own test pair (tests/inputs): MobileNetV2 exported twice with different Q/DQ
    "trex/mobilenet-qat/mobilenet.qat.onnx.engine.graph.json": {
        "layers": 73,
        "detailed": True,
        "bindings": ["input1", "1179"],
        "layer": (
            "features.0.0.weight + QuantizeLinear_8 + Conv_12 + PWN(Clip_16)",
            "Convolution",
            "INT8",
        ),
    },
    "trex/mobilenet-v2-residuals-qat/mobilenet_v2_residuals.qat.onnx.engine.graph.json": {
        "layers": 58,
        "detailed": True,
        "bindings": ["inputs.1", "1304"],
        "layer": (
            "features.0.0.weight + QuantizeLinear_7 + Conv_9 + PWN(Clip_13)",
            "Convolution",
            "INT8",
        ),
    },
    "trex/RTX-3090-tf-resnet50/fp16/resnet.onnx.engine.graph.json": {
        "layers": 86,
        "detailed": True,
        "bindings": ["input_1", "predictions"],
        "layer": (
            "Reformatting CopyNode for Input Tensor 0 to Conv__435 + resnet50/conv1_relu/Relu",
            "Reformat",
            "FP32",
        ),
    },
    "trex/RTX-3090-tf-resnet50/qat/resnet-qat.onnx.engine.graph.json": {
        "layers": 63,
        "detailed": True,
        "bindings": ["input_1", "quant_predictions"],
        "layer": ("QuantLinearNode__838", "Reformat", "FP32"),
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
    "trex/mobilenet-qat/mobilenet.qat.onnx.engine.profile.json": {
        "records": 73,
        "count": 6610,
        "total_ms": 3109.2704,
        "slowest": (
            "features.15.conv.2.weight + QuantizeLinear_722 + Conv_726 + Add_728",
            108.727,
            3.49685,
        ),
        "matches_layer_info": "trex/mobilenet-qat/mobilenet.qat.onnx.engine.graph.json",
    },
    "trex/mobilenet-v2-residuals-qat/mobilenet_v2_residuals.qat.onnx.engine.profile.json": {
        "records": 58,
        "count": 8657,
        "total_ms": 3081.2081,
        "slowest": ("features.17.conv.2.weight + QuantizeLinear_729 + Conv_731", 87.753, 2.848),
        "matches_layer_info": (
            "trex/mobilenet-v2-residuals-qat/mobilenet_v2_residuals.qat.onnx.engine.graph.json"
        ),
    },
    "trex/RTX-3090-tf-resnet50/fp16/resnet.onnx.engine.profile.json": {
        "records": 86,
        "count": 1,
        "total_ms": 4.272736,
        "slowest": ("Conv__435 + resnet50/conv1_relu/Relu", 0.229376, 5.36837),
        "matches_layer_info": "trex/RTX-3090-tf-resnet50/fp16/resnet.onnx.engine.graph.json",
    },
    "trex/RTX-3090-tf-resnet50/qat/resnet-qat.onnx.engine.profile.json": {
        "records": 63,
        "count": 1,
        "total_ms": 2.380608,
        "slowest": (
            "resnet50/quant_conv1_conv/LastValueQuant/QuantizeAndDequantizeV4/ReadVariableOp:0"
            " + QuantLinearNode__622 + resnet50/quant_conv1_conv/BiasAdd",
            0.167936,
            7.05433,
        ),
        "matches_layer_info": "trex/RTX-3090-tf-resnet50/qat/resnet-qat.onnx.engine.graph.json",
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

#: trtexec logs. Figures as printed: throughput in qps, latencies in ms, totals in s.
#: "latency": (median, p99) of the Latency line; "gpu": (median, p99) of GPU Compute Time;
#: "totals": (Total Host Walltime, Total GPU Compute Time); "engine_mib": (size, exact?).
# fmt: off
LOGS: dict[str, dict] = {
    "trtexec/log-10.16.1-onnx-default-run.log": {
        "status": "passed", "version": "10.16.1", "build": "b11",
        "device": "NVIDIA H100 PCIe", "cc": "9.0", "memory": "81081 MiB", "precision": "FP32",
        "build_time_s": 8.09138, "engine_mib": (12.5744, True),
        "throughput": 15374.3, "latency": (0.0440674, 0.0512695), "gpu": (0.0361328, 0.041748),
        "latency_p90": 0.0450439, "totals": (3.00013, 1.6586), "warnings": 4,
        "warning": "GPU compute time is unstable, with coefficient of variance = 6.58751%.",
        "command": ["--onnx=/work/trt-samples-for-hackathon-cn/cookbook/00-Data/model/model-trained.onnx"],
    },
    "trtexec/log-10.14.1-onnx-default-run.log": {
        "status": "passed", "version": "10.14.1", "build": "b48",
        "device": "NVIDIA RTX 6000 Ada Generation", "cc": "8.9", "precision": "FP32",
        "build_time_s": 2.60577, "engine_mib": (12.5724, True),
        "throughput": 23188.6, "latency": (0.0383301, 0.046875), "gpu": (0.0285645, 0.0368652),
        "totals": (3.00014, 2.00097), "warnings": 4,
    },
    "trtexec/log-10.16.0-FAILED-custom-op-plugin-not-found.log": {
        "status": "failed", "version": "10.16.0", "build": "b72",
        "device": "NVIDIA RTX 6000 Ada Generation", "precision": "FP32",
        "throughput": None, "errors": 8, "warnings": 1,
        "error": 'ERROR: onnxOpCheckers.cpp:923 In function checkFallbackPluginImporter: [6] creator && "Plugin not found',
        "last_error": "Engine set up failed",
        "command": ["--onnx=/cookbook/00-Data/model/model-addscalar.onnx", "--plugins=./AddScalarPlugin.so"],
    },
    "trtexec/log-10.16.1-build-fp16-dynamic-skipInference-verbose.log": {
        "status": "passed", "version": "10.16.1", "device": "NVIDIA H100 PCIe",
        "precision": "FP32+FP16", "build_time_s": 24.4854, "engine_mib": (6.42511, True),
        "throughput": None, "warnings": 10,
        "warning": "Weakly-typed networks have been deprecated in TensorRT.",
    },
    "trtexec/log-10.16.1-dumpLayerInfo-skipInference.log": {
        "status": "passed", "version": "10.16.1", "precision": "FP32",
        "build_time_s": 8.05109, "engine_mib": (12.5765, True), "throughput": None,
    },
    "trtexec/log-10.16.1-dumpOutput.log": {
        "status": "passed", "version": "10.16.1", "precision": None, "build_time_s": None,
        "engine_mib": (6.0, False), "throughput": 12827.1, "latency": (0.0616455, 0.0704346),
        "gpu": (0.0537109, 0.0620117), "totals": (3.00013, 2.02113), "bindings": 3,
    },
    "trtexec/log-10.16.1-dumpProfile-exportProfile.log": {
        "status": "passed", "version": "10.16.1", "engine_mib": (6.0, False),
        "throughput": None, "profile_rows": 15, "profile_iterations": 18362,
        "profile_row": ("node_conv2d_1_myl3_1", 209.98, 0.0114, 0.0113, 13.7),
        "profile_row_spaces": "Reformatting CopyNode for Input Tensor 0 to {ForeignNode[node_conv2d_1...node_relu_1]}",
    },
    "trtexec/log-10.16.1-loadEngine-inference-verbose.log": {
        "status": "passed", "version": "10.16.1", "throughput": 24896.9,
        "latency": (0.0388184, 0.0390625), "gpu": (0.0388184, 0.0390625),
        "totals": (3.00005, 2.89541), "warnings": 0,
        "command": ["--loadEngine=model-trained.trt", "--shapes=x:4x1x28x28", "--noDataTransfers",
                    "--useSpinWait", "--useCudaGraph", "--verbose"],
    },
    "trtexec/log-10.16.1-plugins-deprecated-flag.log": {
        "status": "passed", "version": "10.16.1", "engine_mib": (0.00301743, True),
        "build_time_s": 0.643486, "throughput": 27315.5, "latency": (0.0128174, 0.0178223),
        "totals": (3.00006, 0.439586), "warnings": 6,
        "warning": "--plugins flag has been deprecated, use --staticPlugins flag instead.",
    },
    "trtexec/log-7.x-resnet50-onnx-explicitBatch-notebook.log": {
        "status": "passed", "version": None, "legacy": True, "device": "Tesla V100-DGXS-16GB",
        "cc": "7.0", "precision": "FP32", "build_time_s": 48.3635, "engine_mib": (None, True),
        "throughput": 0.0, "latency": (2.17676, 2.19336), "gpu": (2.11353, 2.12988),
        "totals": (3.00755, 2.97245), "warnings": 1,
    },
    "trtexec/log-8.2-FAILED-pad-reflect-parse-excerpt.txt": {
        "status": "failed", "version": "8.2.4", "throughput": None,
        "error": "Error Code 4: Internal Error (Reshape_3: IShuffleLayer applied to shape tensor",
        "error2": "ERROR: parsers/onnx/ModelImporter.cpp:179 In function parseGraph: [6] Invalid Node - Pad_13",
        "last_error": "Engine set up failed",
        "command": ["--onnx=unit.onnx", "--shapes=input:1x3x64x64", "--buildOnly"],
    },
    "trtexec/log-8.2.5-mobilenetv2-qat-int8-notebook.log": {
        "status": "passed", "version": "8.2.5", "device": "NVIDIA Graphics Device", "cc": "8.0",
        "precision": "FP32+INT8", "build_time_s": 25.2523, "engine_mib": (2.0, False),
        "throughput": 324.544, "latency": (4.68481, 4.86353), "gpu": (1.61377, 1.69678),
        "latency_p90": None, "totals": (3.0073, 1.57787), "warnings": 7,
    },
    "trtexec/log-8.5.2-yolov8seg-fp16-workspace-deprecated.log": {
        "status": "passed", "version": "8.5.2", "device": "NVIDIA GeForce RTX 3090", "cc": "8.6",
        "precision": "FP32+FP16", "build_time_s": 351.008, "engine_mib": (8.0, False),
        "throughput": 196.933, "latency": (9.76929, 9.89069), "gpu": (4.9054, 5.02271),
        "totals": (3.01626, 2.91731), "warnings": 8,
        "warning": "--workspace flag has been deprecated by --memPoolSize flag.",
        # line 1 is a shell prompt: kept raw
        "unknown": "root@deepstream-triton-jupyter-6:",
    },
    "trtexec/log-8.6.0-build-fp16-dynamic-skipInference-verbose.log": {
        "status": "passed", "version": "8.6.0", "device": "NVIDIA GeForce RTX 3090",
        "precision": "FP32+FP16", "build_time_s": 9.55249, "engine_mib": (6.0, False),
        "throughput": None, "warnings": 6,
    },
    "trtexec/log-8.6.1-segformer-build-verbose-workspace-plugin.log": {
        "status": "passed", "version": "8.6.1", "device": "Tesla T4", "cc": "7.5",
        "precision": "FP32", "build_time_s": 263.679, "engine_mib": (55.0, False),
        "throughput": 9.40936, "latency": (102.379, 112.963), "gpu": (100.525, 111.161),
        "totals": (3.40087, 3.24432), "warnings": 0,
    },
}
# fmt: on
