module who

go 1.27
