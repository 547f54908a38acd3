module web

go 1.27
