module github.com/hornbeam-go/hornbeam

go 1.23

require (
	github.com/ergo-services/ergo v1.999.224 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
