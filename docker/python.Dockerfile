# The Python exercise of the course seeds, multi-stage: Python runs once at
# build time to write output.txt; the image only has to show that file.
ARG PYTHON_IMAGE=python:3.13-slim
ARG BUSYBOX_IMAGE=busybox:1.37

# build: an interpreter, needed only to produce output.txt.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /work
COPY originals/simple-script/simple_script.py ./
# A fixed SOURCE_DATE_EPOCH makes the file (and so the layer) reproducible:
# its text, and its date.
ARG SOURCE_DATE_EPOCH
RUN python3 simple_script.py && touch -d "@${SOURCE_DATE_EPOCH:-0}" output.txt

# final: showing a file takes cat, not Python; busybox is a few MB. Non-root
# because nothing here needs root.
FROM ${BUSYBOX_IMAGE}
COPY --from=build /work/output.txt /output.txt
USER 65534:65534
CMD ["cat", "/output.txt"]
