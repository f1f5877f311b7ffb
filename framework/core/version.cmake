# Writes OUT (version.cpp) from IN with the git revision and dirty flag of SRC as they are now, so
# a rebuild after a commit or an edit records the right ones (run at every build by the target
# mt_version, framework/CMakeLists.txt). configure_file leaves OUT untouched when its text is
# unchanged, so nothing recompiles then.
# Inputs: -DSRC -DIN -DOUT -DPROJECT_VERSION -DMT_BUILD_OPTIONS
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE MT_GIT_REVISION RESULT_VARIABLE rev_rc
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rev_rc EQUAL 0 OR NOT MT_GIT_REVISION)
  set(MT_GIT_REVISION "unknown")
  set(MT_GIT_DIRTY -1)
else()
  # tracked changes and untracked files that are not ignored (a new source file counts)
  execute_process(COMMAND git --no-optional-locks status --porcelain WORKING_DIRECTORY ${SRC}
                  OUTPUT_VARIABLE status RESULT_VARIABLE status_rc ERROR_QUIET)
  if(NOT status_rc EQUAL 0)
    set(MT_GIT_DIRTY -1)
  elseif(status STREQUAL "")
    set(MT_GIT_DIRTY 0)
  else()
    set(MT_GIT_DIRTY 1)
  endif()
endif()
configure_file(${IN} ${OUT} @ONLY)
