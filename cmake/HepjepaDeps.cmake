# Locate ONNX Runtime's C++ headers, the onnxruntime wheel's C library, and nlohmann/json.
# Headers, in this order: ONNXRUNTIME_ROOT (cache var or env) -> /usr/include/onnxruntime ->
# Debian trixie's libonnxruntime-dev fetched with a private apt state into a sha256-keyed cache.

set(HEPJEPA_ORT_DEB_VERSION "1.21.0+dfsg-1")
set(HEPJEPA_ORT_DEB_SHA256 "14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08")
set(HEPJEPA_JSON_DEB_VERSION "3.11.2-2")
set(HEPJEPA_JSON_DEB_SHA256 "ec57940def6b6186c30be0e0ee81d1e58f86d11a54a145b28686a1e3e4aae801")
set(HEPJEPA_DEPS_CACHE "$ENV{HOME}/.cache/hepjepa/deps" CACHE PATH "where fetched Debian headers are cached (keyed by sha256)")

# Fetch a Debian package into ${HEPJEPA_DEPS_CACHE}/<sha256>/ unless it is there already.
function(hepjepa_fetch_deb pkg version sha suite out_root)
  set(dest "${HEPJEPA_DEPS_CACHE}/${sha}")
  if(NOT EXISTS "${dest}/.complete")
    message(STATUS "hepjepa: fetching ${pkg}=${version} from Debian ${suite} into ${dest}")
    file(REMOVE_RECURSE "${dest}" "${dest}.work")
    execute_process(
      COMMAND bash "${CMAKE_CURRENT_LIST_DIR}/fetch_deb.sh" ${pkg} ${version} ${sha} ${suite} "${dest}" "${dest}.work"
      RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
    file(REMOVE_RECURSE "${dest}.work")
    if(NOT rc EQUAL 0)
      set(${out_root} "" PARENT_SCOPE)
      message(WARNING "hepjepa: fetching ${pkg} failed (${rc}): ${err}")
      return()
    endif()
    file(TOUCH "${dest}/.complete")
  endif()
  set(${out_root} "${dest}/usr/include" PARENT_SCOPE)
endfunction()

# --- ONNX Runtime headers
set(ONNXRUNTIME_ROOT "$ENV{ONNXRUNTIME_ROOT}" CACHE PATH "ONNX Runtime install prefix (has include/onnxruntime or include/)")
set(HEPJEPA_ORT_INCLUDE_DIR "")
if(ONNXRUNTIME_ROOT)
  foreach(cand "${ONNXRUNTIME_ROOT}/include/onnxruntime" "${ONNXRUNTIME_ROOT}/include" "${ONNXRUNTIME_ROOT}")
    if(EXISTS "${cand}/onnxruntime_cxx_api.h")
      set(HEPJEPA_ORT_INCLUDE_DIR "${cand}")
      break()
    endif()
  endforeach()
  if(NOT HEPJEPA_ORT_INCLUDE_DIR)
    message(FATAL_ERROR "ONNXRUNTIME_ROOT=${ONNXRUNTIME_ROOT} has no onnxruntime_cxx_api.h (looked in include/onnxruntime, include, .)")
  endif()
elseif(EXISTS "/usr/include/onnxruntime/onnxruntime_cxx_api.h")
  set(HEPJEPA_ORT_INCLUDE_DIR "/usr/include/onnxruntime")
else()
  hepjepa_fetch_deb(libonnxruntime-dev ${HEPJEPA_ORT_DEB_VERSION} ${HEPJEPA_ORT_DEB_SHA256} trixie _ort_inc)
  if(_ort_inc AND EXISTS "${_ort_inc}/onnxruntime/onnxruntime_cxx_api.h")
    set(HEPJEPA_ORT_INCLUDE_DIR "${_ort_inc}/onnxruntime")
  endif()
endif()
if(NOT HEPJEPA_ORT_INCLUDE_DIR)
  message(FATAL_ERROR "ONNX Runtime C++ headers not found. Give them one of three ways:\n"
    "  1. -DONNXRUNTIME_ROOT=<prefix> or the ONNXRUNTIME_ROOT environment variable (official tarball, conda-forge onnxruntime-cpp);\n"
    "  2. install them system-wide in /usr/include/onnxruntime (apt install libonnxruntime-dev on Debian trixie / Ubuntu);\n"
    "  3. let the build fetch Debian trixie's libonnxruntime-dev=${HEPJEPA_ORT_DEB_VERSION} (needs apt-get, dpkg-deb and deb.debian.org).")
endif()
message(STATUS "hepjepa: ONNX Runtime headers: ${HEPJEPA_ORT_INCLUDE_DIR}")

# --- ONNX Runtime library: the one inside the onnxruntime wheel, so Python and C++ share it
set(ONNXRUNTIME_LIBRARY "" CACHE FILEPATH "libonnxruntime.so to link (default: the onnxruntime wheel's)")
if(NOT ONNXRUNTIME_LIBRARY)
  find_package(Python COMPONENTS Interpreter REQUIRED)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -c "import glob, os, onnxruntime; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so.*')))[-1])"
    OUTPUT_VARIABLE _ort_lib OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT EXISTS "${_ort_lib}")
    message(FATAL_ERROR "cannot find libonnxruntime.so.* in the onnxruntime wheel of ${Python_EXECUTABLE}; "
                        "pip install onnxruntime==1.31.1 or pass -DONNXRUNTIME_LIBRARY=/path/libonnxruntime.so")
  endif()
  set(ONNXRUNTIME_LIBRARY "${_ort_lib}" CACHE FILEPATH "" FORCE)
endif()
message(STATUS "hepjepa: ONNX Runtime library: ${ONNXRUNTIME_LIBRARY}")
# The wheel ships only libonnxruntime.so.1.31.1, but binaries ask for its SONAME
# (libonnxruntime.so.1): a link named by the SONAME lets the loader find it via RPATH.
execute_process(COMMAND objdump -p "${ONNXRUNTIME_LIBRARY}" OUTPUT_VARIABLE _objdump)
string(REGEX MATCH "SONAME +([^\n ]+)" _m "${_objdump}")
set(HEPJEPA_ORT_SONAME "${CMAKE_MATCH_1}")
if(NOT HEPJEPA_ORT_SONAME)
  set(HEPJEPA_ORT_SONAME "libonnxruntime.so.1")
endif()
set(HEPJEPA_ORT_LINK "${CMAKE_BINARY_DIR}/ortlib/${HEPJEPA_ORT_SONAME}")
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/ortlib")
file(CREATE_LINK "${ONNXRUNTIME_LIBRARY}" "${HEPJEPA_ORT_LINK}" SYMBOLIC)

# --- nlohmann/json (header only): user -> system -> Debian bookworm's nlohmann-json3-dev
find_path(HEPJEPA_JSON_INCLUDE_DIR nlohmann/json.hpp)
if(NOT HEPJEPA_JSON_INCLUDE_DIR)
  hepjepa_fetch_deb(nlohmann-json3-dev ${HEPJEPA_JSON_DEB_VERSION} ${HEPJEPA_JSON_DEB_SHA256} bookworm _json_inc)
  if(NOT _json_inc)
    message(FATAL_ERROR "nlohmann/json.hpp not found: pass -DHEPJEPA_JSON_INCLUDE_DIR=<dir>, install nlohmann-json3-dev, or allow the fetch from Debian")
  endif()
  set(HEPJEPA_JSON_INCLUDE_DIR "${_json_inc}" CACHE PATH "" FORCE)
endif()
