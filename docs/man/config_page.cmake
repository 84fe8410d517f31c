# Writes the Markdown source of mcaprec.yaml(5): HEAD, then config/README.md from its
# "## Checking a file" section on (what comes before it is about the repository's example
# files), then TAIL. Run with cmake -P, defining HEAD, README, TAIL and OUT.
file(READ ${HEAD} head)
file(READ ${README} readme)
file(READ ${TAIL} tail)
string(FIND "${readme}" "## Checking a file" start)
if(start EQUAL -1)
  message(FATAL_ERROR "${README} has no '## Checking a file' section for the man page")
endif()
string(SUBSTRING "${readme}" ${start} -1 body)
file(WRITE ${OUT} "${head}${body}${tail}")
