// The `webhook` mode: cdi-apiserver's DataVolume validation, served to a real API server.
//
// The handler is cdi-apiserver's own (webhooks.NewDataVolumeValidatingWebhook), with clients built
// from --kubeconfig as cdi-apiserver builds them from its service account: it looks up the claim
// a DataVolume would populate, and the source of a clone. The webhook to register is the one
// cdi-operator generates for cdi-apiserver (its name, rule, failure policy and timeout).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cdiv1 "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1"
	"kubevirt.io/containerized-data-importer/pkg/apiserver/webhooks"
	cdiclient "kubevirt.io/containerized-data-importer/pkg/client/clientset/versioned"
	"kubevirt.io/containerized-data-importer/pkg/operator/resources/cluster"
)

// dataVolumeValidatePath is the path cdi-operator's webhook configuration gives cdi-apiserver's
// DataVolume validation.
const dataVolumeValidatePath = "/datavolume-validate"

// servedWebhooks are the webhooks of the configurations cdi-operator generates for cdi-apiserver
// whose path `webhook` serves, their client configuration still pointing at cdi-apiserver.
func servedWebhooks() ([]admissionregistrationv1.ValidatingWebhook, error) {
	objects, err := cluster.CreateDynamicResourceGroup("apiserver-registrations", &cluster.FactoryArgs{Namespace: "cdi"})
	if err != nil {
		return nil, err
	}
	var out []admissionregistrationv1.ValidatingWebhook
	for _, o := range objects {
		config, ok := o.(*admissionregistrationv1.ValidatingWebhookConfiguration)
		if !ok {
			continue
		}
		for _, w := range config.Webhooks {
			if svc := w.ClientConfig.Service; svc != nil && svc.Path != nil && *svc.Path == dataVolumeValidatePath {
				out = append(out, w)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("cdi-operator generates no webhook for " + dataVolumeValidatePath)
	}
	return out, nil
}

func printWebhookConfiguration(w io.Writer) error {
	hooks, err := servedWebhooks()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]interface{}{"webhooks": hooks})
}

type webhookFlags struct {
	cert, key, kubeconfig string
	port                  int
	exitWithStdin         bool
}

func parseWebhookFlags(args []string) (webhookFlags, error) {
	var f webhookFlags
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	fs.StringVar(&f.cert, "cert", "", "PEM serving certificate")
	fs.StringVar(&f.key, "key", "", "PEM key of the serving certificate")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the API server the webhook reads from")
	fs.IntVar(&f.port, "port", 0, "port on 127.0.0.1 (0: any free one, printed)")
	fs.BoolVar(&f.exitWithStdin, "exit-with-stdin", false, "stop when standard input closes (its parent is gone)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.cert == "" || f.key == "" || f.kubeconfig == "" {
		return f, errors.New("webhook needs --cert, --key and --kubeconfig")
	}
	return f, nil
}

func webhookHandler(kubeconfig string) (http.Handler, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("a client from %s: %v", kubeconfig, err)
	}
	// client-go's default rate (5 requests a second) would hold each DataVolume's check for 200 ms
	// once a burst is spent: every check reads from the API server.
	config.QPS, config.Burst = 500, 1000
	k8s, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	cdi, err := cdiclient.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := cdiv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	crc, err := client.New(config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	// The DataVolume validation reads no volume snapshots: cdi-apiserver's snapshot client stays unset.
	mux.Handle(dataVolumeValidatePath, webhooks.NewDataVolumeValidatingWebhook(k8s, cdi, nil, crc))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux, nil
}

func runWebhook(args []string) error {
	f, err := parseWebhookFlags(args)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return fmt.Errorf("the serving certificate: %v", err)
	}
	hooks, err := servedWebhooks()
	if err != nil {
		return err
	}
	handler, err := webhookHandler(f.kubeconfig)
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	served := make(chan error, 1)
	go func() { served <- server.ServeTLS(listener, "", "") }()
	ready, _ := json.Marshal(map[string]interface{}{
		"port":     listener.Addr().(*net.TCPAddr).Port,
		"webhooks": hooks,
	})
	fmt.Println(string(ready))

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	if f.exitWithStdin {
		go func() {
			_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
			done <- syscall.SIGTERM
		}()
	}
	select {
	case err := <-served:
		return err
	case <-done:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
