"""cnn_course: the library behind the notebooks of a course on convolutional neural networks.

Lessons in front, tools behind. The modules a student reads sit in this folder, in the order data
flows: ``config`` (data folder, quick mode, device, seeding, the number format) ->
``downloads`` (fetching, checking and preparing files: what the lessons stand on) ->
``datasets`` (Fashion-MNIST as tensors) and ``images`` (image files, ``CatsDogs``) ->
``efficientnet`` (the Lite0 network) -> ``models`` -> ``training`` -> ``plots``; ``ops``
(from-scratch convolution and pooling) stands alone; ``animations`` and ``panels`` (the class
demos of notebooks 02-04) draw on ``ops``; ``memory`` measures what notebook 05 shows;
``exercises`` (with its checks in ``exercise_checks/``) answers every notebook's exercises.
``tools/`` holds what a student never needs: the ``cnn-course`` command (``tools.cli``), the
site and handouts, ``execute``, grading; no lesson module imports it.

Reading list, in the course's order: each notebook, then each module it uses and the names it
takes from it (tests/test_reading_list.py keeps this list equal to what the notebooks use).

00 · Imágenes como números
    config        checkpoints_dir, format_number, get_device, run_info, seed_everything
    datasets      FASHION_CLASSES, FASHION_CLASSES_ES, load_fashion_mnist, to_tensors
    models        count_parameters, FashionCNN, MLP
    training      EXERCISE, save_checkpoint, train_with_recipe
    plots         plot_history, plot_matrices, show_images
    exercises     comprueba, pista, solucion

01 · Imágenes en color y tensores
    config        format_number, run_info
    plots         show_images
    exercises     comprueba, pista, solucion

02 · La convolución
    config        format_number, run_info
    ops           conv2d_im2col, conv2d_naive, im2col, output_size, pad2d
    plots         plot_conv_steps, plot_matrices, show_images
    animations    animate_convolution
    panels        conv_panel
    exercises     comprueba, pista, solucion

03 · Relleno (padding) y avance (stride)
    config        format_number, run_info
    ops           conv2d_im2col, conv2d_naive, output_size, pad2d
    plots         plot_conv_steps, plot_matrices, show_images
    animations    animate_convolution
    panels        conv_panel
    exercises     comprueba, pista, solucion

04 · Pooling
    config        checkpoints_dir, format_number, run_info, seed_everything
    ops           conv2d_im2col, output_size, pool2d
    datasets      FASHION_CLASSES_ES, load_fashion_mnist
    models        FashionCNN
    training      load_checkpoint
    plots         plot_feature_maps, plot_matrices, show_images
    animations    animate_pooling, animate_receptive_field
    panels        conv_panel
    exercises     comprueba, pista, solucion

05 · Datasets y DataLoaders
    config        format_number, run_info, seed_everything
    downloads     raw_folder
    datasets      fashion_batches, FASHION_CLASSES_ES, FlattenDataset, load_fashion_mnist,
                  TensorBatches, to_tensors
    models        FashionCNN
    training      evaluate, EXERCISE, train_one_epoch
    memory        peak_extra_bytes
    plots         show_images
    exercises     comprueba, pista, solucion

06 · La red convolutiva de las transparencias
    config        format_number, run_info, seed_everything
    datasets      fashion_batches, load_fashion_mnist
    models        count_parameters, FashionCNN
    training      fit
    exercises     comprueba, pista, solucion

06a · Ejercicio (entrega): clasificar Fashion-MNIST con una red VGG
    config        checkpoints_dir, run_info
    training      fashion_cnn_from, save_checkpoint
    exercises     comprueba, pista

06b · Solución del ejercicio (entrega): Fashion-MNIST con la red VGG
    config        checkpoints_dir, format_number, get_device, quick_mode, run_info, seed_everything
    datasets      fashion_batches, FASHION_CLASSES_ES, load_fashion_mnist
    models        count_parameters, FashionCNN, MLP
    training      EXERCISE, fit, load_checkpoint, predict, save_checkpoint, train_with_recipe
    plots         confusion_matrix, LivePlot, plot_confusion_matrix, plot_kernels, show_images
    exercises     comprueba, pista, solucion

07 · Aprendizaje por transferencia: VGG16 y EfficientNet-Lite0
    config        data_dir, format_number, quick_mode, run_info, seed_everything
    downloads     CATS_DOGS_CLASSES, DatasetNotFoundError, find_cats_dogs, lite0_weights_path,
                  vgg16_weights_path
    datasets      TensorBatches
    images        CatsDogs, image_to_tensor, IMAGENET_MEAN, imagenet_unnormalize, load_image,
                  STAND_IN_FOLDERS, write_fashion_folders
    efficientnet  EfficientNetLite0, lite0_input, MBConv
    models        count_parameters, slides_head, small_cnn, transfer_model, vgg16_transfer
    training      accuracy_vs_labels, calibrate_batchnorm, fit, predict
    plots         plot_accuracy_vs_labels, plot_history, show_images
    exercises     comprueba, pista, solucion

08 · Redes residuales (ResNet)
    config        format_number, get_device, quick_mode, run_info, seed_everything
    ops           output_size
    datasets      load_fashion_mnist, TensorBatches, to_tensors
    models        count_parameters, deep_stack, FashionCNN, FashionResNet, ResLayer
    training      EXERCISE, train_steps, train_with_recipe
    exercises     comprueba, pista, solucion
"""

__version__ = "0.1.0"
