include_guard()
target_sources(knd_model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/knd_kind.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_util.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_podspec.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_volume.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_container.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_annotations.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_traffic.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_validate_update.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_defaults.c)
# round/pow in duration and quantity parsing.
target_link_libraries(knd_model PUBLIC m)
