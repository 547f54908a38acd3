# The Python exercise the naive way: one stage, so the image keeps the whole
# interpreter only to cat a text file it wrote at build time.
ARG PYTHON_IMAGE=python:3.13
FROM ${PYTHON_IMAGE}
WORKDIR /app
COPY originals/simple-script/simple_script.py ./
RUN python3 simple_script.py
CMD ["cat", "/app/output.txt"]
