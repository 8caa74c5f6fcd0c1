include_guard()
# Platform configuration (config-* ConfigMaps), host templates and traffic resolution.
target_sources(knd_model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/knd_platform.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_platform_scale.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_platform_value.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_platform_domain.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_template.c
  ${CMAKE_CURRENT_LIST_DIR}/knd_routing.c)
