// kubectl for the e2e tests, built from the same pinned k8s.io/kubernetes
// release as kube-apiserver, so client and server versions match (the
// kubectl on the machine may be outside the supported version skew, or
// absent).
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
