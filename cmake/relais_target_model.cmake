# relais_write_target_model(<file>): writes, at configure time, every project
# target's type, folder, sources, include directories and link libraries as
# JSON, for tests/hygiene/include_check.py (each target includes only headers
# of libraries it links). Call it once, after every add_subdirectory().

function(_relais_collect_targets dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _relais_collect_targets("${sub}" sub_targets)
    list(APPEND targets ${sub_targets})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# A CMake list as a JSON array of strings (paths and target names: no quotes
# or backslashes to escape).
function(_relais_json_array out)
  set(items "")
  foreach(item IN LISTS ARGN)
    list(APPEND items "\"${item}\"")
  endforeach()
  list(JOIN items ", " joined)
  set(${out} "[${joined}]" PARENT_SCOPE)
endfunction()

function(relais_write_target_model file)
  _relais_collect_targets("${PROJECT_SOURCE_DIR}" targets)
  set(entries "")
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "UTILITY")
      continue()
    endif()
    get_target_property(dir ${t} SOURCE_DIR)
    set(props "")
    foreach(p SOURCES INCLUDE_DIRECTORIES LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(value ${t} ${p})
      if(NOT value)
        set(value "")
      endif()
      _relais_json_array(json ${value})
      list(APPEND props "\"${p}\": ${json}")
    endforeach()
    list(JOIN props ",\n    " props)
    list(APPEND entries
      "\"${t}\": {\n    \"TYPE\": \"${type}\",\n    \"SOURCE_DIR\": \"${dir}\",\n    ${props}}")
  endforeach()
  list(JOIN entries ",\n  " body)
  file(WRITE "${file}"
    "{\"source_dir\": \"${PROJECT_SOURCE_DIR}\",\n \"binary_dir\": \"${PROJECT_BINARY_DIR}\",\n"
    " \"targets\": {\n  ${body}}}\n")
endfunction()
