# ctest helpers for projects that test their own engine with powercut (installed with
# the package; docs/testing-your-engine.md). Both take the project's CLI executable: a
# target whose main() registers the project's engine and families and returns
# powercut::tools::RunCli(argc, argv).
#
# powercut_add_seed_tests(CLI <target> FAMILIES <family>...
#                         [FIRST_SEED <n>] [SEEDS <n>] [IMAGES <k>] [PREFIX <p>]
#                         [LABELS <label>...] [EXPECT_FAILURE])
#   One test per family: `<cli> run --families F --first-seed N --seeds S`, named
#   <p><family> (PREFIX defaults to "powercut."). A failing seed fails the test, and its
#   output ends with the command that reproduces it (`<cli> replay FILE`, the replay file
#   saved under the test's working directory, in powercut-failures/). With
#   EXPECT_FAILURE the test passes only if some seed fails and a reproduction command is
#   printed: for a deliberately broken variant that the suite must catch.
#
# powercut_add_replay_tests(CLI <target> DIRECTORY <dir> [PREFIX <p>] [LABELS <label>...])
#   One test per <dir>/*.replay: `<cli> replay FILE`, which passes when the file gives
#   the verdict its `expect:` line names. Named <p><file name without .replay>.
include_guard(GLOBAL)

function(powercut_add_seed_tests)
  cmake_parse_arguments(P "EXPECT_FAILURE" "CLI;FIRST_SEED;SEEDS;IMAGES;PREFIX" "FAMILIES;LABELS" ${ARGN})
  if(NOT P_CLI OR NOT P_FAMILIES)
    message(FATAL_ERROR "powercut_add_seed_tests: CLI and FAMILIES are required")
  endif()
  if(NOT DEFINED P_FIRST_SEED)
    set(P_FIRST_SEED 1)
  endif()
  if(NOT DEFINED P_SEEDS)
    set(P_SEEDS 200)
  endif()
  if(NOT DEFINED P_IMAGES)
    set(P_IMAGES 4)
  endif()
  if(NOT DEFINED P_PREFIX)
    set(P_PREFIX "powercut.")
  endif()
  foreach(family IN LISTS P_FAMILIES)
    set(name "${P_PREFIX}${family}")
    add_test(NAME ${name}
      COMMAND $<TARGET_FILE:${P_CLI}> run --families ${family} --first-seed ${P_FIRST_SEED}
              --seeds ${P_SEEDS} --images ${P_IMAGES})
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "POWERCUT_FAILURE_DIR=${CMAKE_CURRENT_BINARY_DIR}/powercut-failures")
    if(P_LABELS)
      set_tests_properties(${name} PROPERTIES LABELS "${P_LABELS}")
    endif()
    if(P_EXPECT_FAILURE)
      # Exit 1 with a reproduction command; exit 0 (nothing caught) or 2 (bad input) fail.
      set_tests_properties(${name} PROPERTIES PASS_REGULAR_EXPRESSION "reproduce: [^\n]* replay ")
    endif()
  endforeach()
endfunction()

function(powercut_add_replay_tests)
  cmake_parse_arguments(P "" "CLI;DIRECTORY;PREFIX" "LABELS" ${ARGN})
  if(NOT P_CLI OR NOT P_DIRECTORY)
    message(FATAL_ERROR "powercut_add_replay_tests: CLI and DIRECTORY are required")
  endif()
  if(NOT DEFINED P_PREFIX)
    set(P_PREFIX "replay.")
  endif()
  file(GLOB replays CONFIGURE_DEPENDS "${P_DIRECTORY}/*.replay")
  if(NOT replays)
    message(FATAL_ERROR "powercut_add_replay_tests: no .replay files in ${P_DIRECTORY}")
  endif()
  foreach(replay IN LISTS replays)
    get_filename_component(stem ${replay} NAME_WE)
    add_test(NAME ${P_PREFIX}${stem} COMMAND $<TARGET_FILE:${P_CLI}> replay ${replay})
    if(P_LABELS)
      set_tests_properties(${P_PREFIX}${stem} PROPERTIES LABELS "${P_LABELS}")
    endif()
  endforeach()
endfunction()
