# relais_precompile_headers(): the headers every test file includes —
# GoogleTest, the standard library, abseil, gRPC and the API's generated
# messages — parsed once per tree instead of once per file. A test file spends
# more than half of its compile time parsing them (20 s -> 15 s each under
# ASan), and the suite's clean build on two cores is the first thing CI waits
# for. The project's own files gain little from it (their time goes to code
# generation), so they are left as they are. Call it once, after every
# add_subdirectory(). RELAIS_PCH=OFF builds without, which is also how one
# checks that every test file still includes what it uses.
include("${CMAKE_CURRENT_LIST_DIR}/relais_target_model.cmake")  # _relais_collect_targets

option(RELAIS_PCH "Precompile the headers every test file includes" ON)

set(_relais_pch_headers
  <functional> <map> <memory> <optional> <string> <utility> <vector>
  [["absl/status/status.h"]] [["absl/status/statusor.h"]] [["absl/strings/str_cat.h"]]
  [["absl/strings/string_view.h"]] [["absl/synchronization/mutex.h"]] [["absl/time/time.h"]]
  [["grpcpp/grpcpp.h"]]
  [["relais/v1/admin.grpc.pb.h"]] [["relais/v1/audit.grpc.pb.h"]]
  [["relais/v1/auth.grpc.pb.h"]] [["relais/v1/care.grpc.pb.h"]]
  [["relais/v1/directory.grpc.pb.h"]] [["relais/v1/inbox.grpc.pb.h"]]
  [["relais/v1/partnership.grpc.pb.h"]] [["relais/v1/record.grpc.pb.h"]]
  [["gmock/gmock.h"]] [["gtest/gtest.h"]])

# What `target` links, directly or through project targets, each target's
# list computed once per configure run (a walk of every path through the
# project's library graph took minutes).
function(_relais_link_closure target out)
  get_property(known GLOBAL PROPERTY "_relais_closure_${target}" SET)
  if(NOT known)
    set(closure "")
    get_target_property(libs ${target} LINK_LIBRARIES)
    get_target_property(iface ${target} INTERFACE_LINK_LIBRARIES)
    foreach(lib IN LISTS libs iface)
      if(lib MATCHES "-NOTFOUND$")
        continue()
      endif()
      list(APPEND closure "${lib}")
      if(TARGET "${lib}" AND lib MATCHES "^relais")
        _relais_link_closure(${lib} below)
        list(APPEND closure ${below})
      endif()
    endforeach()
    list(REMOVE_DUPLICATES closure)
    set_property(GLOBAL PROPERTY "_relais_closure_${target}" "${closure}")
  endif()
  get_property(closure GLOBAL PROPERTY "_relais_closure_${target}")
  set(${out} "${closure}" PARENT_SCOPE)
endfunction()

# Whether `target` links a library whose name matches `pattern`, directly or
# through project targets.
function(_relais_links target pattern out)
  _relais_link_closure(${target} closure)
  set(found FALSE)
  foreach(lib IN LISTS closure)
    if(lib MATCHES "${pattern}")
      set(found TRUE)
      break()
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

function(relais_precompile_headers)
  if(NOT RELAIS_PCH)
    return()
  endif()
  set(donor_cc "${PROJECT_BINARY_DIR}/relais_test_pch.cc")
  file(WRITE "${donor_cc}" "// Compiled only to build the precompiled header.\n")
  add_library(relais_test_pch STATIC "${donor_cc}")
  # relais_proto brings gRPC (and with it abseil and -pthread) publicly.
  target_link_libraries(relais_test_pch PRIVATE GTest::gtest GTest::gmock relais_proto)
  target_compile_options(relais_test_pch PRIVATE ${RELAIS_WARNINGS})
  target_precompile_headers(relais_test_pch PRIVATE ${_relais_pch_headers})

  _relais_collect_targets("${PROJECT_SOURCE_DIR}" targets)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$" OR t STREQUAL "relais_test_pch")
      continue()
    endif()
    # Only where the API's headers are on the include path and GoogleTest's
    # and gRPC's definitions are in force: elsewhere the header is not used.
    _relais_links(${t} "^relais_proto$" uses_api)
    _relais_links(${t} "^GTest::" is_test)
    if(uses_api AND is_test)
      target_precompile_headers(${t} REUSE_FROM relais_test_pch)
    endif()
  endforeach()
endfunction()
