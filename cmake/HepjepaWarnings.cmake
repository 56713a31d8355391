# hepjepa_warnings(<target>): the warnings every hepjepa target builds with, errors under HEPJEPA_WERROR.
# Third-party headers (ONNX Runtime, nlohmann/json, pybind11, Python) are SYSTEM includes, so
# -pedantic judges only our code.
option(HEPJEPA_WERROR "treat compiler warnings as errors (.ci/cpp turns this on)" OFF)
function(hepjepa_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -pedantic $<$<BOOL:${HEPJEPA_WERROR}>:-Werror>)
endfunction()
