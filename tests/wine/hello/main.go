// A tiny Windows program for the runner tests: prints to stdout and stderr, reports
// which emulator it was pointed at, and exits with the status given as its argument.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	fmt.Println("hello from windows")
	fmt.Println("url=" + os.Getenv("HNS_EMULATOR_URL"))
	fmt.Fprintln(os.Stderr, "to stderr")
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil {
			os.Exit(2)
		}
		os.Exit(n)
	}
}
