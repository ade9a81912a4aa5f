# Fails unless README.md shows each example file verbatim: run by ctest as readme_examples.
# Usage: cmake -DREADME=<README.md> -DEXAMPLES="<file>;<file>" -P check_readme_examples.cmake
file(READ "${README}" readme)
foreach(example IN LISTS EXAMPLES)
  file(READ "${example}" code)
  string(FIND "${readme}" "${code}" position)
  if(position EQUAL -1)
    message(FATAL_ERROR "README.md does not show ${example} verbatim: update the README's copy")
  endif()
endforeach()
