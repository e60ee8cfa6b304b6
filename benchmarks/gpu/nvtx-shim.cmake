# Included at project() by build-engine.sh (CMAKE_PROJECT_INCLUDE), before find_package(Torch). The public CMake
# files of some CUDA LibTorch versions (2.5-2.7) link CUDA::nvToolsExt, a library CUDA 12.9 and 13 no longer ship
# (NVTX is header-only nvtx3 there): stand it in with nvtx3, where the toolkit lacks it. Nothing else changes.
find_package(CUDAToolkit QUIET)
if(TARGET CUDA::nvtx3 AND NOT TARGET CUDA::nvToolsExt)
  add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
  target_link_libraries(CUDA::nvToolsExt INTERFACE CUDA::nvtx3)
  message(STATUS "nvtx-shim: CUDA::nvtx3 stands in for CUDA::nvToolsExt")
endif()
