// Command yaml2json turns a multi-document YAML stream (kustomize build output) into one JSON
// array of documents, so the TypeScript cross-check can read manifests without a YAML package.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "yaml2json:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	dec := yaml.NewDecoder(in)
	docs := []any{}
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		// An empty document (a stray "---") decodes to nil; it is not a manifest.
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", " ")
	return enc.Encode(docs)
}
