// Command fetch prints the retry policy it would use; its one dependency lives on a host that
// does not exist, so the dependency download fails before anything is built.
package main

import (
	"fmt"

	"deps.sentinel-demo.invalid/retry"
)

func main() {
	fmt.Println(retry.Default())
}
