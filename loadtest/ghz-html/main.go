// Command ghz-html renders a ghz JSON report (ghz -O json) as ghz's own HTML report, so one load
// run yields both the machine-readable numbers and the page users look at, with no second run.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/bojand/ghz/printer"
	"github.com/bojand/ghz/runner"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ghz-html <report.json> <report.html>")
		os.Exit(2)
	}
	if err := render(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "ghz-html:", err)
		os.Exit(1)
	}
}

func render(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var report runner.Report
	if err := json.Unmarshal(raw, &report); err != nil {
		return fmt.Errorf("%s is not a ghz JSON report: %w", in, err)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	p := printer.ReportPrinter{Out: f, Report: &report}
	if err := p.Print("html"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
