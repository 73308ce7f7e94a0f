# SPDX-License-Identifier: MIT
"""The machine a benchmark ran on, as the C benchmarks print it (cpu:, isa:)."""

ISA = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def print_machine():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model == "unknown":
                    model = value
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    have = [i for i in ISA if i in flags]
    print(f"cpu: {model}")
    print(f"isa: {' '.join(have) if have else 'baseline x86-64'}")
